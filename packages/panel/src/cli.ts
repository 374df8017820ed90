console.log('panel cli', process.argv.slice(2));
